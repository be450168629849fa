"""The sender domain in SES: a domain identity signing with Easy DKIM (2048-bit keys), sending
through the stack's configuration set by default (so every email's delivery report reaches the
SesReceipts function), with its own MAIL FROM domain (mail.<SenderDomain>) so SPF aligns.

The DNS records the council must publish are the outputs SenderDomainDkimRecords and
SenderDomainMailFromRecords. Leaving SES's sandbox (production access) is an account request, not
a resource: `aws sesv2 put-account-details ...` (see README, Deployment).
"""
from __future__ import annotations

from typing import Any

IDENTITY = "SenderIdentity"

PARAMETERS = {
    "SenderDomain": {"Type": "String", "Default": "",
                     "Description": "The domain the letters are sent from (each area's sender_email is on it); "
                                    "empty: identities verified outside this stack"},
}
CONDITIONS = {"HasSenderDomain": {"Fn::Not": [{"Fn::Equals": [{"Ref": "SenderDomain"}, ""]}]}}


def _dkim_record(n: int) -> dict[str, Any]:
    return {"Fn::Sub": f"${{{IDENTITY}.DkimDNSTokenName{n}}} CNAME ${{{IDENTITY}.DkimDNSTokenValue{n}}}"}


def fragment() -> dict[str, Any]:
    return {
        "Parameters": PARAMETERS,
        "Conditions": CONDITIONS,
        "Resources": {IDENTITY: {"Type": "AWS::SES::EmailIdentity", "Condition": "HasSenderDomain", "Properties": {
            "EmailIdentity": {"Ref": "SenderDomain"},
            "DkimAttributes": {"SigningEnabled": True},
            "DkimSigningAttributes": {"NextSigningKeyLength": "RSA_2048_BIT"},
            "ConfigurationSetAttributes": {"ConfigurationSetName": {"Ref": "SesConfigurationSet"}},
            # If the MX record is missing, mail still goes (from amazonses.com) rather than bouncing.
            "MailFromAttributes": {"MailFromDomain": {"Fn::Sub": "mail.${SenderDomain}"},
                                   "BehaviorOnMxFailure": "USE_DEFAULT_VALUE"}}}},
        "Outputs": {
            "SenderDomainDkimRecords": {
                "Description": "Publish these three CNAME records in the sender domain's DNS (Easy DKIM)",
                "Condition": "HasSenderDomain",
                "Value": {"Fn::Join": ["\n", [_dkim_record(n) for n in (1, 2, 3)]]}},
            "SenderDomainMailFromRecords": {
                "Description": "Publish these MX and SPF records for the MAIL FROM domain",
                "Condition": "HasSenderDomain",
                "Value": {"Fn::Join": ["\n", [
                    {"Fn::Sub": "mail.${SenderDomain} MX 10 feedback-smtp.${AWS::Region}.amazonses.com"},
                    {"Fn::Sub": 'mail.${SenderDomain} TXT "v=spf1 include:amazonses.com ~all"'}]]}},
        },
    }
