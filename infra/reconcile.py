"""`make reconcile`: recount the published figures from the audit trails and report any
difference from the counters (exit 1 if there is one). Against `make run` by default; with
AWS credentials and TABLE_PREFIX=<stack name> (and LOCAL=0) against a deployed stack."""
from __future__ import annotations

import os
import sys

if os.environ.get("LOCAL", "1") == "1":
    from infra.local_stack import AWS_ENV  # noqa: F401 - points AWS at the local moto server


def main() -> int:
    from chalicelib import wiring
    from chalicelib.reconcile import reconcile

    policies = wiring.policies()
    differences = reconcile(policies.values())
    for d in differences:
        print(f"{d.area} {d.year}: {d.count} counted {d.counted}, recounted {d.recounted}")
    print(f"{len(differences)} difference(s) across {len(policies)} area(s)")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
