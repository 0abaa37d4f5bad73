"""Build the release archive (maintainers only)."""

import subprocess
import sys


def main():
    subprocess.run([sys.executable, "-m", "build"], check=True)


if __name__ == "__main__":
    main()
