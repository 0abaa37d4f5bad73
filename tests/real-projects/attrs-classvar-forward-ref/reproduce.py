import typing

from attr._make import _is_class_var

try:
    verdict = _is_class_var(typing.ForwardRef("ClassVar[str]"))
    plain = _is_class_var("typing.ClassVar[int]")
except Exception as error:
    print(f"Other issues: {error!r}")
else:
    if not plain:
        print("Other issues")
    elif verdict:
        print("Issue resolved")
    else:
        print("Issue reproduced")
