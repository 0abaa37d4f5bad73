import subprocess
import sys

# EncodingWarning is only emitted when the interpreter runs with -X warn_default_encoding.
CHECK = r"""
import pathlib, sys, tempfile, warnings
from jaraco.text import lines_from

with tempfile.TemporaryDirectory() as tmp:
    path = pathlib.Path(tmp, 'sample.txt')
    path.write_text('caf\u00e9\nna\u00efve\n', encoding='utf-8')
    with warnings.catch_warnings():
        warnings.simplefilter('error', EncodingWarning)
        try:
            lines = list(lines_from(path))
        except EncodingWarning:
            print('Issue reproduced')
            sys.exit()
print('Issue resolved' if lines == ['caf\u00e9\n', 'na\u00efve\n'] else 'Other issues')
"""

try:
    result = subprocess.run(
        [sys.executable, "-X", "warn_default_encoding", "-c", CHECK],
        capture_output=True,
        text=True,
        timeout=120,
    )
except Exception as error:
    print(f"Other issues: {error!r}")
else:
    output = result.stdout.strip()
    if result.returncode == 0 and output in ("Issue reproduced", "Issue resolved"):
        print(output)
    else:
        print(f"Other issues: {output} {result.stderr.strip()[-500:]}")
