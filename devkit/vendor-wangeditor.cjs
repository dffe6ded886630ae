// `npm run vendor`: copy the wangEditor 5 UMD bundle, its stylesheet and licence into
// static/vendor/wangeditor/, with the licence text of every package the bundle includes
// (licenses/) and a NOTICE.md listing them. No CDN: the pages serve these files themselves.
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const nm = path.join(root, "node_modules");
const out = path.join(root, "static", "vendor", "wangeditor");
const editor = path.join(nm, "@wangeditor", "editor");

fs.mkdirSync(path.join(out, "licenses"), { recursive: true });
fs.copyFileSync(path.join(editor, "dist", "index.js"), path.join(out, "index.js"));
fs.copyFileSync(path.join(editor, "dist", "css", "style.css"), path.join(out, "style.css"));
fs.copyFileSync(path.join(editor, "LICENSE"), path.join(out, "LICENSE"));

const seen = new Set();
const rows = [];
function visit(name) {
  if (seen.has(name)) { return; }
  seen.add(name);
  const dir = path.join(nm, name);
  if (!fs.existsSync(path.join(dir, "package.json"))) { return; }
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const file = fs.readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  if (file) { fs.copyFileSync(path.join(dir, file), path.join(out, "licenses", name.replace("/", "+") + ".txt")); }
  rows.push(`| ${name} | ${pkg.version} | ${pkg.license || "?"} | ${file ? "licenses/" + name.replace("/", "+") + ".txt" : "(licence named in package.json only)"} |`);
  Object.keys({ ...(pkg.dependencies || {}), ...(pkg.peerDependencies || {}) }).forEach(visit);
}
visit("@wangeditor/editor");
rows.sort();
fs.writeFileSync(
  path.join(out, "NOTICE.md"),
  "# wangEditor 5 bundle — included packages\n\n" +
    "`index.js` is the UMD bundle of @wangeditor/editor; it includes the packages below.\n\n" +
    "| package | version | licence | text |\n|---|---|---|---|\n" + rows.join("\n") + "\n"
);
