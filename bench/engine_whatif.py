"""Run the `dialer` command with the proposed throughput fixes patched in, to measure what
they would gain before anyone changes the engine. Diagnosis only: never used in production.

    python bench/engine_whatif.py FIXES -C dialer.conf [dialer options]
    FIXES: comma list of
      no-set-channel   skip the per-attempt channelid UPDATE (fix 1: the claim would set it;
                       a no-op since 646ee55, where the claim does it)
      batch-record     the results handled in one wake-up of the engine share one transaction
                       (fix 2; the per-lead statements stay, their START/COMMIT do not)
      drain-while-dialling  handle queued events every 50 Originates of a batch (memory fix 1;
                       the engine dials in chunks of 100 since 646ee55)

Used by `engine_bench.py throughput|memory --whatif FIXES`.
"""
import contextlib
import sys


def patch_no_set_channel():
    from dialer.store import claims
    claims.ClaimsMixin.set_channel = lambda self, name, lead_id, owner, channelid: True


def patch_batch_record():
    from dialer import engine
    from dialer.store import base

    plain_tx = base.StoreBase.write_tx

    @contextlib.contextmanager
    def write_tx(self):
        batch = getattr(self, "_whatif_batch", None)
        if batch is None:
            with plain_tx(self):
                yield
            return
        if not batch["open"]:      # START only when the wake-up has something to write
            self.conn().cursor().execute(self.d.begin_write)
            batch["open"] = True
        yield

    plain_wait = engine.Engine._wait_and_handle

    def wait_and_handle(self):
        st = self.db.store
        if st is None or self.db.down:
            return plain_wait(self)
        st._whatif_batch = {"open": False}
        try:
            return plain_wait(self)
        finally:
            batch, st._whatif_batch = st._whatif_batch, None
            if batch["open"] and not self.db.down:
                st.conn().cursor().execute("COMMIT")

    base.StoreBase.write_tx = write_tx
    engine.Engine._wait_and_handle = wait_and_handle


def patch_drain_while_dialling(every=50):
    """Memory fix 1: handle the events already queued every `every` Originates of a batch."""
    from dialer import engine
    from dialer.engine import pacer

    plain_init = engine.Engine.__init__
    plain = pacer.Pacer._originate

    def init(self, *args, **kwargs):
        plain_init(self, *args, **kwargs)
        self.pacer._whatif_engine = self

    def originate(self, name, state, lead, now):
        plain(self, name, state, lead, now)
        self._whatif_sent = getattr(self, "_whatif_sent", 0) + 1
        eng = self._whatif_engine
        if self._whatif_sent % every == 0:
            # The engine thread is the queue's only consumer: qsize() items are there.
            for _ in range(min(eng.events.qsize(), 5000)):
                eng._handle(eng.events.get_nowait())

    engine.Engine.__init__ = init
    pacer.Pacer._originate = originate


PATCHES = {"no-set-channel": patch_no_set_channel, "batch-record": patch_batch_record,
           "drain-while-dialling": patch_drain_while_dialling}


def main():
    fixes = [f for f in sys.argv[1].split(",") if f]
    unknown = [f for f in fixes if f not in PATCHES]
    if unknown:
        sys.exit(f"engine_whatif: unknown fix {', '.join(unknown)}; expected {', '.join(PATCHES)}")
    sys.argv = ["dialer"] + sys.argv[2:]
    for f in fixes:
        PATCHES[f]()
    from dialer import cli
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
