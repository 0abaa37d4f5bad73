from packaging.utils import InvalidWheelFilename, parse_wheel_filename

try:
    parse_wheel_filename("foo-1.0-py3-none-any.whl")
except Exception as error:
    print(f"Other issues: {error!r}")
else:
    try:
        parse_wheel_filename("foo\n-1.0-py3-none-any.whl")
    except InvalidWheelFilename:
        print("Issue resolved")
    except Exception as error:
        print(f"Other issues: {error!r}")
    else:
        print("Issue reproduced")
