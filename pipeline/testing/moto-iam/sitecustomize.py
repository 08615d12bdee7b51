# Imported (as sitecustomize, through PYTHONPATH) by the moto_server that pipeline/testing/moto.ts
# starts with `iam: true`. moto 5.2's IAM simulation differs from AWS in ways that would let a
# role test pass where AWS refuses (or fail where AWS allows); each patch below makes one of them
# behave as AWS documents. Written against moto 5.2.x; any other version stops the server at once,
# so a moto upgrade is noticed instead of silently testing less.
import json
import os
import re
import sys
from urllib.parse import parse_qs, quote, unquote, urlsplit

import moto

if not moto.__version__.startswith("5.2."):
    sys.stderr.write(f"mltk-moto-iam: written for moto 5.2.x, found {moto.__version__}; review the patches\n")
    sys.stderr.flush()
    os._exit(3)

from moto import settings  # noqa: E402
from moto.core.authorization import ActionAuthenticatorMixin  # noqa: E402
from moto.core.exceptions import JsonRESTError  # noqa: E402
from moto.iam import access_control as ac  # noqa: E402
from moto.s3 import responses as s3r  # noqa: E402
from moto.s3.exceptions import S3ClientError  # noqa: E402

NEUTRAL, PERMITTED, DENIED = ac.PermissionResult.NEUTRAL, ac.PermissionResult.PERMITTED, ac.PermissionResult.DENIED
SIGV4_SAFE = "-_.~"


# 1. Signatures: moto rebuilds the signed request from a URL whose query werkzeug has already
# decoded (`prefix=a/` where the client signed `prefix=a%2F`), so every S3 list with a `/` in its
# prefix failed with SignatureDoesNotMatch. SigV4 encodes each query name and value (RFC 3986).
_create_aws_request = ac.IAMRequestBase._create_aws_request


def create_aws_request(self):
    request = _create_aws_request(self)
    path, sep, query = request.url.partition("?")
    if sep:
        pairs = [p.partition("=") for p in query.split("&") if p]
        request.url = path + "?" + "&".join(
            f"{quote(unquote(k), safe=SIGV4_SAFE)}={quote(unquote(v), safe=SIGV4_SAFE)}" for k, _, v in pairs
        )
    return request


ac.IAMRequestBase._create_aws_request = create_aws_request

# 2. Action names: moto names the action after the signing name of the service ("monitoring"),
# AWS after its IAM prefix ("cloudwatch:PutMetricData").
SIGNING_NAME_TO_IAM_PREFIX = {"monitoring": "cloudwatch"}
_init = ac.IAMRequestBase.__init__


def init(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    service, _, name = self._action.partition(":")
    if service in SIGNING_NAME_TO_IAM_PREFIX:
        self._action = f"{SIGNING_NAME_TO_IAM_PREFIX[service]}:{name}"


ac.IAMRequestBase.__init__ = init


# 3. Conditions: moto passes no request context to identity policies (so every condition was
# ignored), treats an unsupported operator as satisfied, and answers DENIED (not "does not
# apply") for an Allow whose condition fails. Here the request supplies the keys our policies
# use, a missing key or an operator not modelled below never satisfies a condition, and a
# statement whose condition fails does not apply.
def request_context(req):
    ctx = {}
    if req._action == "cloudwatch:PutMetricData":
        namespace = req._data.get("Namespace") if isinstance(req._data, dict) else None
        if namespace is None and req._body:
            try:
                namespace = json.loads(req._body).get("Namespace")
            except ValueError:
                namespace = None
        if namespace is not None:
            ctx["cloudwatch:namespace"] = namespace
    if req._action == "s3:ListBucket":
        query = parse_qs(urlsplit(req._path).query, keep_blank_values=True)
        if "prefix" in query:
            ctx["s3:prefix"] = query["prefix"][0]
    return ctx


def wildcard(pattern):
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.S)


OPERATORS = {
    "StringEquals": lambda expected, actual: actual == expected,
    "StringLike": lambda expected, actual: wildcard(expected).match(actual) is not None,
    "Bool": lambda expected, actual: actual.lower() == expected.lower(),
}


def conditions_met(condition, context):
    context = {k.lower(): v for k, v in (context or {}).items()}
    for operator, by_key in (condition or {}).items():
        if_exists = operator.endswith("IfExists")
        check = OPERATORS.get(operator[: -len("IfExists")] if if_exists else operator)
        for key, expected in by_key.items():
            actual = context.get(key.lower())
            if actual is None and if_exists:
                continue
            if check is None or actual is None:
                return False
            values = expected if isinstance(expected, list) else [expected]
            if not any(check(str(v), str(actual)) for v in values):
                return False
    return True


def statement_permits(self, action, resource="*", principal=None, incoming_condition_values=None):
    s = self._statement
    if "NotAction" in s:
        concerned = not self._check_element_matches("NotAction", action)
    else:
        concerned = self._check_element_matches("Action", action)
    if not concerned or self.is_unknown_principal(s.get("Principal")):
        return NEUTRAL
    if principal and not self._check_principal(principal):
        return DENIED
    if not conditions_met(s.get("Condition"), incoming_condition_values):
        return NEUTRAL
    if not s.get("Resource"):
        return PERMITTED
    if not self._check_element_matches("Resource", resource):
        return NEUTRAL
    return PERMITTED if s["Effect"] == "Allow" else DENIED


def match(pattern, string):
    # moto turned `*` into `.*` without escaping the rest, so the `.` of a bucket name matched anything.
    return wildcard(pattern).match(string)


ac.IAMPolicyStatement.is_action_permitted = statement_permits
ac.IAMPolicyStatement._match = staticmethod(match)


def check_action_permitted(self, resource):
    if self._action == "sts:GetCallerIdentity":
        return
    context = request_context(self)
    permitted = False
    for policy in self._access_key.collect_policies():
        result = ac.IAMPolicy(policy).is_action_permitted(self._action, resource, None, context)
        if result == DENIED:
            self._raise_access_denied()
        if result == PERMITTED:
            permitted = True
    if self._is_assuming_role_operation(resource):
        permitted = permitted and self._check_role_trust_relationship(resource)
    if not permitted:
        self._raise_access_denied()


ac.IAMRequestBase.check_action_permitted = check_action_permitted


# 4. JSON-protocol services (CloudWatch today) got an XML AccessDenied body the SDK cannot parse;
# AWS answers them with a JSON AccessDeniedException naming the principal and the action.
class JsonAccessDenied(JsonRESTError):
    code = 403


_raise_access_denied = ac.IAMRequest._raise_access_denied


def raise_access_denied(self):
    content_type = next((v for k, v in self._headers.items() if k.lower() == "content-type"), "")
    if content_type.startswith("application/x-amz-json"):
        message = f"User: {self._access_key.arn} is not authorized to perform: {self._action}"
        raise JsonAccessDenied("AccessDeniedException", message)
    _raise_access_denied(self)


ac.IAMRequest._raise_access_denied = raise_access_denied

# 5. Missing keys: AWS answers a GET or HEAD of a key that does not exist with 404 only when the
# caller may s3:ListBucket the bucket, and with 403 AccessDenied otherwise. moto always said 404.
_key_response = s3r.S3Response._key_response


def key_response(self, request, full_url):
    enforced = ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT
    if enforced and request.method in ("GET", "HEAD"):
        bucket_name = self.parse_bucket_name_from_url(request, full_url)
        query = parse_qs(urlsplit(full_url).query, keep_blank_values=True)
        if "uploadId" not in query and bucket_name in self.backend.buckets:
            try:
                missing = self.backend.get_object(bucket_name, self.parse_key_name()) is None
            except S3ClientError:  # moto raises for some missing keys instead of returning None
                missing = True
            if missing:
                self.data["Action"] = "ListBucket"
                self._authenticate_and_authorize_s3_action(bucket_name=bucket_name)
    return _key_response(self, request, full_url)


s3r.S3Response._key_response = key_response

# 6. Step Functions resources: moto authorized every Step Functions call against Resource "*", so a
# policy naming the state machine never matched; AWS authorizes StartExecution against the state
# machine and DescribeExecution/StopExecution against the execution the request names.
from moto.stepfunctions import responses as sfr  # noqa: E402


def sfn_resource(self):
    try:
        body = json.loads(self.body or "{}")
    except ValueError:
        return "*"
    return body.get("stateMachineArn") or body.get("executionArn") or "*"


sfr.StepFunctionResponse._determine_resource = sfn_resource

sys.stderr.write(f"mltk-moto-iam: AWS IAM semantics patched into moto {moto.__version__}\n")
sys.stderr.flush()
