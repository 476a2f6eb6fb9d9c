# ruff: noqa: E501  (verbatim fixtures keep their original lines)
"""Verbatim contract fixtures from /work/shared/reference/quickbooks.md §12."""

import json

F1_REQUEST = json.loads(
    r"""{
  "Line": [
    {
      "DetailType": "SalesItemLineDetail",
      "Amount": 100.0,
      "SalesItemLineDetail": {
        "ItemRef": {
          "name": "Services",
          "value": "1"
        }
      }
    }
  ],
  "CustomerRef": {
    "value": "1"
  }
}"""
)

F1_RESPONSE = json.loads(
    r"""{
  "Invoice": {
    "TxnDate": "2015-07-24",
    "domain": "QBO",
    "PrintStatus": "NeedToPrint",
    "TotalAmt": 100.0,
    "Line": [
      {
        "LineNum": 1,
        "Amount": 100.0,
        "SalesItemLineDetail": {
          "TaxCodeRef": {
            "value": "NON"
          },
          "ItemRef": {
            "name": "Services",
            "value": "1"
          }
        },
        "Id": "1",
        "DetailType": "SalesItemLineDetail"
      },
      {
        "DetailType": "SubTotalLineDetail",
        "Amount": 100.0,
        "SubTotalLineDetail": {}
      }
    ],
    "DueDate": "2015-08-23",
    "ApplyTaxAfterDiscount": false,
    "DocNumber": "1069",
    "sparse": false,
    "ProjectRef": {
      "value": "39298034"
    },
    "Deposit": 0,
    "Balance": 100.0,
    "CustomerRef": {
      "name": "Amy's Bird Sanctuary",
      "value": "1"
    },
    "TxnTaxDetail": {
      "TotalTax": 0
    },
    "SyncToken": "0",
    "LinkedTxn": [],
    "ShipAddr": {
      "City": "Bayshore",
      "Line1": "4581 Finch St.",
      "PostalCode": "94326",
      "Lat": "INVALID",
      "Long": "INVALID",
      "CountrySubDivisionCode": "CA",
      "Id": "109"
    },
    "EmailStatus": "NotSet",
    "BillAddr": {
      "City": "Bayshore",
      "Line1": "4581 Finch St.",
      "PostalCode": "94326",
      "Lat": "INVALID",
      "Long": "INVALID",
      "CountrySubDivisionCode": "CA",
      "Id": "2"
    },
    "MetaData": {
      "CreateTime": "2015-07-24T10:33:39-07:00",
      "LastUpdatedTime": "2015-07-24T10:33:39-07:00"
    },
    "CustomField": [
      {
        "DefinitionId": "1",
        "Type": "StringType",
        "Name": "Crew #"
      }
    ],
    "Id": "238"
  },
  "time": "2015-07-24T10:33:39.11-07:00"
}"""
)

F3_VOIDED = json.loads(
    r"""{
  "Invoice": {
    "AllowOnlineACHPayment": false,
    "domain": "QBO",
    "TxnDate": "2014-11-09",
    "PrintStatus": "NEED_TO_PRINT",
    "SalesTermRef": {
      "value": "3"
    },
    "TotalAmt": 0,
    "Line": [
      {
        "Description": "Sod",
        "DetailType": "SALES_ITEM_LINE_DETAIL",
        "SalesItemLineDetail": {
          "TaxCodeRef": {
            "value": "TAX"
          },
          "Qty": 0,
          "ItemRef": {
            "name": "Sod",
            "value": "14"
          }
        },
        "LineNum": 1,
        "Amount": 0,
        "Id": "1"
      },
      {
        "Description": "2 cubic ft. bag",
        "DetailType": "SALES_ITEM_LINE_DETAIL",
        "SalesItemLineDetail": {
          "TaxCodeRef": {
            "value": "TAX"
          },
          "Qty": 0,
          "ItemRef": {
            "name": "Soil",
            "value": "15"
          }
        },
        "LineNum": 2,
        "Amount": 0,
        "Id": "2"
      },
      {
        "Description": "Weekly Gardening Service",
        "DetailType": "SALES_ITEM_LINE_DETAIL",
        "SalesItemLineDetail": {
          "TaxCodeRef": {
            "value": "NON"
          },
          "Qty": 0,
          "ItemRef": {
            "name": "Gardening",
            "value": "6"
          }
        },
        "LineNum": 3,
        "Amount": 0,
        "Id": "3"
      },
      {
        "Description": "Rock Fountain",
        "DetailType": "SALES_ITEM_LINE_DETAIL",
        "SalesItemLineDetail": {
          "TaxCodeRef": {
            "value": "TAX"
          },
          "Qty": 0,
          "ItemRef": {
            "name": "Rock Fountain",
            "value": "5"
          }
        },
        "LineNum": 4,
        "Amount": 0,
        "Id": "4"
      },
      {
        "Description": "Fountain Pump",
        "DetailType": "SALES_ITEM_LINE_DETAIL",
        "SalesItemLineDetail": {
          "TaxCodeRef": {
            "value": "TAX"
          },
          "Qty": 0,
          "ItemRef": {
            "name": "Pump",
            "value": "11"
          }
        },
        "LineNum": 5,
        "Amount": 0,
        "Id": "5"
      },
      {
        "DetailType": "SUB_TOTAL_LINE_DETAIL",
        "Amount": 0,
        "SubTotalLineDetail": {}
      }
    ],
    "DueDate": "2014-12-09",
    "MetaData": {
      "CreateTime": "2014-11-09T13:15:36-08:00",
      "LastUpdatedTime": "2016-03-16T12:27:10-07:00"
    },
    "DocNumber": "1036",
    "PrivateNote": "Voided",
    "sparse": false,
    "CustomerMemo": {
      "value": "Thank you for your business and have a great day!"
    },
    "ProjectRef": {
      "value": "39298045"
    },
    "Deposit": 0,
    "Balance": 0,
    "CustomerRef": {
      "name": "0969 Ocean View Road",
      "value": "8"
    },
    "TxnTaxDetail": {
      "TotalTax": 0
    },
    "AllowOnlineCreditCardPayment": false,
    "SyncToken": "1",
    "LinkedTxn": [],
    "BillEmail": {
      "Address": "Sporting_goods@intuit.com"
    },
    "ShipAddr": {
      "City": "Middlefield",
      "Line1": "370 Easy St.",
      "PostalCode": "94482",
      "Lat": "37.4031672",
      "Long": "-122.0642815",
      "CountrySubDivisionCode": "CA",
      "Id": "8"
    },
    "EmailStatus": "NOT_SET",
    "BillAddr": {
      "Line4": "Middlefield, CA  94482",
      "Line3": "370 Easy St.",
      "Line2": "Freeman Sporting Goods",
      "Line1": "Sasha Tillou",
      "Long": "INVALID",
      "Lat": "INVALID",
      "Id": "94"
    },
    "ApplyTaxAfterDiscount": false,
    "CustomField": [
      {
        "DefinitionId": "1",
        "StringValue": "105",
        "Type": "STRING_TYPE",
        "Name": "Crew #"
      }
    ],
    "Id": "129",
    "AllowOnlinePayment": false,
    "AllowIPNPayment": false
  },
  "time": "2016-03-16T12:27:10.711-07:00"
}"""
)

F5_BATCH_FAULTS = json.loads(
    r"""{
  "BatchItemResponse": [
    {
      "Fault": {
        "type": "ValidationFault",
        "Error": [
          {
            "Message": "Duplicate Name Exists Error",
            "code": "6240",
            "Detail": "The name supplied already exists. : Another customer, vendor or employee is already using this name. Please use a different name.",
            "element": ""
          }
        ]
      },
      "bId": "bid1"
    },
    {
      "Fault": {
        "type": "ValidationFault",
        "Error": [
          {
            "Message": "Object Not Found",
            "code": "610",
            "Detail": "Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.",
            "element": ""
          }
        ]
      },
      "bId": "bid2"
    },
    {
      "Fault": {
        "type": "ValidationFault",
        "Error": [
          {
            "Message": "Stale Object Error",
            "code": "5010",
            "Detail": "Stale Object Error : You and root were working on this at the same time. root finished before you did, so your work was not saved.",
            "element": ""
          }
        ]
      },
      "bId": "bid3"
    }
  ],
  "time": "2016-04-15T09:01:18.141-07:00"
}"""
)

F6A_NOT_FOUND = json.loads(
    r"""{"Fault":{"Error":[{"Message":"Object Not Found","Detail":"Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.","code":"610","element":""}],"type":"ValidationFault"},"time":"2018-03-20T20:15:59.571-07:00"}"""
)

F8_CLOUDEVENTS = json.loads(
    r"""[
  {
    "specversion": "1.0",
    "id": "88cd52aa-33b6-4351-9aa4-47572edbd068",
    "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
    "type": "qbo.account.created.v1",
    "datacontenttype": "application/json",
    "time": "2025-09-10T21:31:25.179851517Z",
    "intuitentityid": "1234",
    "intuitaccountid": "310687",
    "data": {}
  }
]"""
)

F9_DISCOVERY = json.loads(
    r"""{
   "issuer":"https://oauth.platform.intuit.com/op/v1",
   "authorization_endpoint":"https://appcenter.intuit.com/connect/oauth2",
   "token_endpoint":"https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
   "userinfo_endpoint":"https://sandbox-accounts.platform.intuit.com/v1/openid_connect/userinfo",
   "revocation_endpoint":"https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
   "jwks_uri":"https://oauth.platform.intuit.com/op/v1/jwks",
   "response_types_supported":["code"],
   "subject_types_supported":["public"],
   "id_token_signing_alg_values_supported":["RS256"],
   "scopes_supported":["openid","email","profile","address","phone"],
   "token_endpoint_auth_methods_supported":["client_secret_post","client_secret_basic"],
   "claims_supported":["aud","exp","iat","iss","realmid","sub"]
}"""
)

F7_VERIFIER_TOKEN = "b5771f19b12ddb4bcdb9f08bdc50bc63878a"
F7_SIGNATURE = "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q="
F7_BODY = b'{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":[{"name":"Customer","id":"1","operation":"Create","lastUpdated":"2015-10-05T14:42:19-0700"}]}}]}'
