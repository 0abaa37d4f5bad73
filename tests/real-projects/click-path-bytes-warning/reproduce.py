import subprocess
import sys

program = (
    "import click\n"
    "convert = click.Path(allow_dash=True).convert\n"
    "for value in ('-', '', b'-', b''):\n"
    "    convert(value, None, None)\n"
)
plain = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
strict = subprocess.run([sys.executable, "-bb", "-c", program], capture_output=True, text=True)
if plain.returncode != 0:
    print("Other issues")
    print(plain.stderr)
elif strict.returncode == 0:
    print("Issue resolved")
elif "BytesWarning" in strict.stderr:
    print("Issue reproduced")
else:
    print("Other issues")
    print(strict.stderr)
