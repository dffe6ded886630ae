"""Text folding and the automaton key encoding shared by every dictionary-based check.

(The key encoding and ``PRIMER_CHARS`` serve the pyahocorasick fallback engine only; the default
daachorse engine reads text as it is — see engines.py.  The scan reads the raw text and folds
only windows around the characters ``fold`` changes: ``Lexicon._folded_matches`` in data.py.)

Two tricks, both length-preserving so that spans found in the folded text are spans in the
original text:

* ``fold`` maps full-width digits/letters (０-９, Ａ-Ｚ, ａ-ｚ, ．／) to ASCII and ASCII capitals to
  lower case, one character for one character.  Chinese punctuation is left alone.
* ``encode`` turns a string into UTF-16-BE bytes read as latin-1, i.e. every BMP character
  becomes two characters below U+0100.  pyahocorasick looks a character up among a node's
  children by a linear scan, so a 50,000-term Chinese dictionary has a root with thousands of
  children; with the two-byte alphabet no node has more than 256.  Together with
  ``PRIMER_CHARS`` (frequent characters inserted first, so they sit at the front of every
  child list) this makes the scan several times faster.  A match must start on an even offset.
"""

from __future__ import annotations

import re

_FOLD_RUN = re.compile("[A-Z\uff0e\uff0f\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+")
_FOLD_TABLE: dict[int, int] = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_FOLD_TABLE.update({0xFF10 + i: ord("0") + i for i in range(10)})
_FOLD_TABLE.update({0xFF21 + i: ord("a") + i for i in range(26)})
_FOLD_TABLE.update({0xFF41 + i: ord("a") + i for i in range(26)})
_FOLD_TABLE[0xFF0E] = ord(".")
_FOLD_TABLE[0xFF0F] = ord("/")
FOLD_SOURCES = "".join(chr(c) for c in _FOLD_TABLE)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _fold_run(m: re.Match[str]) -> str:
    return m.group().translate(_FOLD_TABLE)


def fold(text: str) -> str:
    """Full-width alphanumerics → ASCII, ASCII → lower case; same length as ``text``."""
    if text.isascii():
        return text.lower()
    if _FOLD_RUN.search(text) is None:
        return text
    return _FOLD_RUN.sub(_fold_run, text)


_FOLD_CHARS = {chr(c): chr(f) for c, f in _FOLD_TABLE.items()}


def fold_char(ch: str) -> str:
    """``fold`` of one character, without a regex call."""
    return _FOLD_CHARS.get(ch, ch)


def encode(folded: str) -> str:
    """Two characters per input character (see module doc); astral characters become U+FFFD."""
    enc = folded.encode("utf-16-be", "surrogatepass").decode("latin-1")
    if len(enc) != 2 * len(folded):
        enc = _ASTRAL.sub("\ufffd", folded).encode("utf-16-be", "surrogatepass").decode("latin-1")
    return enc


def has_astral(text: str) -> bool:
    return _ASTRAL.search(text) is not None


# Punctuation, ASCII and the most frequent characters of modern Chinese (roughly in frequency
# order, with words common in government texts).  Only the order matters, and only for speed.
PRIMER_CHARS = (
    "，。、；：？！“”‘’（）《》【】—…·　 \n\t0123456789abcdefghijklmnopqrstuvwxyz.-/:%"
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学"
    "对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头"
    "面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向"
    "情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信"
    "北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难"
    "神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物"
    "台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指"
    "思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步"
    "完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双"
    "历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞"
    "观争究包组造落视济喜离虽坐集编宝谈府拉黑且随格尽剑讲布杀微怕母调局根曾准团段终乐切级克精哪"
    "官示冷域推进落实施坚持加强全面推动健全完善建设服务管理工作会议精神贯彻学习领导干部群众"
    "基层乡村振兴镇街道居委村委社区县区市省厅局办科股室单位企业项目资金安全生产环境保护生态文明"
    "监督检查整改问题责任制度机制规定通知公告公示报名申请审核审批登记办理材料提交时间地点电话"
    "联系咨询投诉举报网站平台信息公开政策解读措施标准规范要求目标任务重点活动开展组织召开举行"
    "出席参加讲话强调指出表示认为提出希望充分深入扎实有效积极主动切实确保及时依法严格规范有序"
)
