import attrs


@attrs.define
class C:
    x: int = attrs.field(validator=attrs.validators.instance_of(int))


try:
    with attrs.validators.disabled():
        with attrs.validators.disabled():
            pass
        try:
            C(x="not an int")
            still_disabled = True
        except TypeError:
            still_disabled = False
except Exception as error:
    print(f"Other issues: {error!r}")
else:
    print("Issue resolved" if still_disabled else "Issue reproduced")
