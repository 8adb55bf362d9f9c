"""TwiML the platform gives the carrier, built with the SDK's builder (it escapes the text)."""

from twilio.twiml.voice_response import VoiceResponse

MAX_INLINE_TWIML = 4000  # characters of an inline `Twiml` parameter (contract §1.1)


def is_audio_url(message: str) -> bool:
    """One http(s) URL and nothing else: audio to play rather than text to speak."""
    text = message.strip()
    return text.startswith(("http://", "https://")) and len(text.split()) == 1


def message_twiml(message: str) -> str:
    """Play `message` once, then hang up: `<Play>` for an audio URL, `<Say>` for text."""
    response = VoiceResponse()
    if is_audio_url(message):
        response.play(message.strip())
    else:
        response.say(message.strip())
    response.hangup()
    return response.to_xml(xml_declaration=False)
