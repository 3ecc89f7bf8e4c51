"""The capture tests read tests/captures/ (copies of the real Asterisk transcripts); without them
the replay and outcome tests would have nothing to check, so their absence is a failure."""
from tests.conftest import CAPTURES

FOLDERS = ("asterisk-20.20.1-config", "asterisk-20.20.1-round1", "asterisk-20.20.1-round2",
           "asterisk-22.10.1-pjsip")


def test_every_capture_folder_is_in_the_repository():
    missing = [f for f in FOLDERS if not (CAPTURES / f).is_dir()]
    assert not missing, f"capture folders missing under {CAPTURES}: {missing}"


def test_the_transcripts_are_there():
    transcripts = [p for p in CAPTURES.glob("asterisk-*/*.txt")
                   if not p.name.endswith((".sent.txt", ".timeline.txt"))]
    # 69 transcripts were taken from Asterisk 20.20.1 and 22.10.1 (tests/captures/README.md).
    assert len(transcripts) >= 69, f"only {len(transcripts)} transcripts under {CAPTURES}"
