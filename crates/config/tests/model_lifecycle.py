"""Checks the default OpenAI models against the installed official `openai` package: each must
be a model the SDK knows for its use, and none may carry an "Announced shutdown date" (or "Not a
supported model ID") in the SDK's "Deprecated values" docstrings.

Arguments: `KIND=MODEL` pairs, KIND one of `realtime`, `transcription`, `text`.
Exit codes: 0 all current, 1 some retiring or unknown (reasons on stderr), 3 the `openai`
package is missing or older than 3.57 (the first with the gpt-realtime-2 models).
"""

import ast
import pathlib
import re
import sys
import typing

MINIMUM = (3, 57)

try:
    import openai
    from openai.types.realtime import AudioTranscription, RealtimeSessionCreateRequest
    from openai.types.shared import ChatModel
except ImportError as missing:  # The Rust test decides whether a missing package is fatal.
    print(f"openai package not importable: {missing}", file=sys.stderr)
    sys.exit(3)

version = tuple(int(part) for part in re.findall(r"\d+", openai.__version__)[:2])
if version < MINIMUM:
    print(f"openai {openai.__version__} is older than 3.57", file=sys.stderr)
    sys.exit(3)


def literals(annotation):
    """Every string in the Literal[...] parts of a type annotation."""
    if typing.get_origin(annotation) is typing.Literal:
        return {value for value in typing.get_args(annotation) if isinstance(value, str)}
    found = set()
    for argument in typing.get_args(annotation):
        found |= literals(argument)
    return found


KNOWN = {
    "realtime": literals(RealtimeSessionCreateRequest.model_fields["model"].annotation),
    "transcription": literals(AudioTranscription.model_fields["model"].annotation),
    "text": literals(ChatModel),
}

SHUTDOWN = re.compile(r"Announced shutdown date:\s*(\d{4}-\d{2}-\d{2})")
UNSUPPORTED = "Not a supported model ID"


def shutdowns(docstring):
    """`{model: why}` from a docstring's "Deprecated values:" bullets, e.g.
    `- "gpt-realtime", "gpt-realtime-mini": Announced shutdown date: 2027-01-20. See …`
    (bullets wrap over several lines, even inside the phrase)."""
    found = {}
    if "Deprecated values:" not in docstring:
        return found
    section = docstring.split("Deprecated values:", 1)[1]
    for bullet in re.split(r"\n\s*- ", "\n" + section):
        bullet = " ".join(bullet.split())
        match = SHUTDOWN.search(bullet)
        if match:
            names, why = bullet[: match.start()], f"announced shutdown date {match.group(1)}"
        elif UNSUPPORTED in bullet:
            names, why = bullet[: bullet.index(UNSUPPORTED)], UNSUPPORTED.lower()
        else:
            continue
        for name in re.findall(r'"([^"]+)"', names):
            found[name] = why
    return found


def self_test():
    sample = '''Deprecated values:

    - "a-1", "a-2": Announced shutdown
      date: 2027-01-20. See the page.
    - "b-1": Not a supported model ID.
    - "c-1": Announced shutdown date: 2026-10-23.
    '''
    expected = {
        "a-1": "announced shutdown date 2027-01-20",
        "a-2": "announced shutdown date 2027-01-20",
        "b-1": "not a supported model id",
        "c-1": "announced shutdown date 2026-10-23",
    }
    assert shutdowns(sample) == expected, shutdowns(sample)


self_test()
announced = {}
types = pathlib.Path(openai.__file__).parent / "types"
for path in sorted(types.rglob("*.py")):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for name, why in shutdowns(node.value).items():
                announced.setdefault(name, (why, path.relative_to(types)))
if not announced:
    print("no 'Announced shutdown date' found in the SDK: has the docstring format changed?",
          file=sys.stderr)
    sys.exit(1)

problems = 0
for argument in sys.argv[1:]:
    kind, _, model = argument.partition("=")
    if kind not in KNOWN:
        print(f"unknown kind {kind!r} (expected {', '.join(KNOWN)})", file=sys.stderr)
        problems += 1
    elif model in announced:
        why, where = announced[model]
        print(f"{kind} model {model}: {why} (openai "
              f"{openai.__version__}, types/{where})", file=sys.stderr)
        problems += 1
    elif model not in KNOWN[kind]:
        print(f"{kind} model {model}: not a model the openai {openai.__version__} SDK lists for "
              f"this use", file=sys.stderr)
        problems += 1
print(f"checked {len(sys.argv) - 1} models against {len(announced)} deprecated ones, "
      f"{problems} problems", file=sys.stderr)
sys.exit(1 if problems else 0)
