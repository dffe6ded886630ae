"""Office tooling (also ``python -m moderation.checks``): validate the data files, or check a text file.

python -m moderation.checks validate [DATA_DIR]
python -m moderation.checks check FILE [--data-dir DATA_DIR]
"""

from __future__ import annotations

import argparse
import sys

from moderation.checks.base import KIND_LABELS, SEVERITY_LABELS
from moderation.checks.data import DataFileError, Lexicon
from moderation.checks.pipeline import DATA_DIR_ENV, CheckPipeline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moderation.checks", description="发布前自动检查工具")
    sub = parser.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="校验词库文件格式并统计条目数")
    v.add_argument("data_dir", nargs="?", default=None)
    c = sub.add_parser("check", help="检查一个 UTF-8 文本文件")
    c.add_argument("file")
    c.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "validate":
            lex = Lexicon.load(args.data_dir)
            for name, path in lex.sources.items():
                print(f"{name}\t{lex.counts.get(name, 0)} 条\t{path or '（无）'}")
            print("词库文件格式正确。")
            return 0
        with open(args.file, encoding="utf-8-sig") as fh:
            text = fh.read()
        findings = CheckPipeline(data_dir=args.data_dir, reload_interval=None).check_text(text)
    except DataFileError as exc:
        print(f"词库文件有误：{exc}", file=sys.stderr)
        return 2
    for f in findings:
        print(
            f"[{SEVERITY_LABELS[f.severity]}] {KIND_LABELS.get(f.kind, f.kind)} "
            f"{f.start}-{f.end} “{f.text}” {f.message}" + (f" → {f.suggestion}" if f.suggestion else "")
        )
    print(f"共 {len(findings)} 条（数据目录用 --data-dir 指定；应用里由环境变量 {DATA_DIR_ENV} 指定）")
    return 1 if any(f.severity == "block" for f in findings) else 0
