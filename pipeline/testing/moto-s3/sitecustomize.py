# Imported (as sitecustomize, through PYTHONPATH) by every moto_server that pipeline/testing/moto.ts
# starts. AWS applies a conditional write (If-None-Match: *, If-Match) atomically with the write;
# moto 5.2 checks the condition and then writes, on a thread per request, so two racing PUTs of one
# key could both succeed (seen: two concurrent registrations both claiming version 1). One lock around
# S3's key writes restores AWS's rule, which the registry's version claims and alias moves rely on.
# With MLTK_MOTO_IAM=1 the IAM patches of ../moto-iam/sitecustomize.py load too.
import functools
import os
import runpy
import threading

from moto.s3 import responses as s3r

_key_writes = threading.RLock()


def _atomic(method):
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with _key_writes:
            return method(self, *args, **kwargs)

    return locked


# put_object also takes multipart parts; _key_response_post completes multipart uploads (If-None-Match).
for _name in ("put_object", "copy_object", "delete_object", "_key_response_post"):
    setattr(s3r.S3Response, _name, _atomic(getattr(s3r.S3Response, _name)))

# For the test that proves the lock: widen moto's check-then-write window so racing writes overlap for sure.
_delay_ms = float(os.environ.get("MLTK_MOTO_RACE_DELAY_MS") or 0)
if _delay_ms > 0:
    import time

    from moto.s3.models import S3Backend

    _get_object = S3Backend.get_object

    def slow_get_object(self, *args, **kwargs):
        found = _get_object(self, *args, **kwargs)
        time.sleep(_delay_ms / 1000)
        return found

    S3Backend.get_object = slow_get_object

if os.environ.get("MLTK_MOTO_IAM") == "1":
    runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "moto-iam", "sitecustomize.py"))
