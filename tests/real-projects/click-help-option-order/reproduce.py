import click

try:
    orders = []
    for names in (["-h", "--help", "-?"], ["-?", "--help", "-h"], ["--help", "-h", "--help"]):
        command = click.Command("cli")
        context = click.Context(command, help_option_names=names)
        orders.append((command.get_help_option_names(context), list(dict.fromkeys(names))))
except Exception as error:
    print(f"Other issues: {error!r}")
else:
    if all(got == expected for got, expected in orders):
        print("Issue resolved")
    elif all(sorted(got) == sorted(expected) for got, expected in orders):
        print("Issue reproduced")
    else:
        print("Other issues")
