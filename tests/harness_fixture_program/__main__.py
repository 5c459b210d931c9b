"""A Pulumi program that the program harness tests run under mocks.

It reads ``harness_program:prefix`` and the optional ``harness_program:firstValue``
from config, creates two store items where the second one's value is the first
one's URL, reads one output of another stack and exports the results.
"""

import pulumi
from harness_fixture_provider import StoreItem
from naming import item_key

config = pulumi.Config()
prefix = config.require("prefix")

first_value = config.get("firstValue") or "one"

first = StoreItem("first", key=item_key(prefix, "a"), value=first_value)
second = StoreItem("second", key=item_key(prefix, "b"), value=first.url)
other = pulumi.StackReference("org/other/prod")

pulumi.export("first_key", first.key)
pulumi.export("second_value", second.value)
pulumi.export("greeting", first.greeting)
pulumi.export("other_region", other.get_output("region"))
pulumi.export("secret_note", pulumi.Output.secret(f"{prefix}-secret"))
pulumi.export("nested", {"urls": [first.url, second.url]})
