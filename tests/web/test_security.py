"""What every server's access log keeps of a request: its path, never its query string."""

import logging

from web.security import drop_query_strings


def test_the_access_log_keeps_the_path_without_the_query_string():
    record = logging.LogRecord("sanic.access", logging.INFO, __file__, 1, "", None, None)
    record.request = "GET http://chat.clinic.example/conversations/abc/tracker?token=secret-value"
    assert drop_query_strings(record)
    assert record.request == "GET http://chat.clinic.example/conversations/abc/tracker"
