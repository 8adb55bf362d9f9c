"""The TwiML a voicemail drop plays: spoken text (escaped) or a recording's URL."""

import pytest
from django.core.exceptions import ValidationError

from campaigns.validation import validate_voicemail_drop
from messaging.twiml import MAX_INLINE_TWIML, message_twiml


def test_text_is_spoken_escaped_then_the_call_hangs_up():
    assert message_twiml(' Hi <Ann> & "Bob". ') == (
        '<Response><Say>Hi &lt;Ann&gt; &amp; "Bob".</Say><Hangup /></Response>'
    )


def test_a_lone_url_is_a_recording_to_play():
    assert message_twiml("https://cdn.example.test/drop.mp3?v=1&k=2\n") == (
        "<Response><Play>https://cdn.example.test/drop.mp3?v=1&amp;k=2</Play><Hangup /></Response>"
    )
    assert "<Say>" in message_twiml("Listen at https://example.test/x")  # text with a URL


def test_a_drop_must_fit_the_carriers_inline_twiml_limit():
    validate_voicemail_drop("")
    validate_voicemail_drop("x" * (MAX_INLINE_TWIML - 100))
    with pytest.raises(ValidationError, match="at most 4000"):
        validate_voicemail_drop("&" * 1000)  # 5 characters each once escaped
