"""What the answered channel runs: the Originate's Application, or the scenario's dialplan for
a Context/Exten originate (Set, Wait, UserEvent, AMD, Hangup), as Asterisk would run it.

A mix-in of Call (channels.py); it uses the event helpers of CallEvents (events.py).
"""


class DialplanRunner:
    def has_dialplan(self):
        dp = self.sim.scenario.dialplan
        return (self.context, self.exten) in dp or (self.context, "s") in dp

    def pending_response(self):
        if self.reason is None:
            self.originate_response(True, 4)

    def run_application(self):
        """What the answered channel runs: the scenario's 'application' behaviour, or the
        scenario's dialplan for a Context/Exten originate."""
        c = self.chan
        p = self.params
        sim = self.sim
        if self.app is not None:
            c.app, c.appdata = self.app, self.appdata or ""
        else:
            c.context, c.exten, c.priority = self.context, self.exten, self.priority
            c.touch()
            steps = sim.scenario.dialplan.get((self.context, self.exten))
            if steps is None and (self.context, "s") in sim.scenario.dialplan:
                steps = sim.scenario.dialplan[(self.context, "s")]
            if steps is not None:
                self.steps = steps
                self.step_i = 0
                sim.at(p["talk"], self.talk_over, self.gen)
                return self.next_step(self.gen)
        if self.outcome == "machine":
            self.varset(c, "AMDSTATUS", "MACHINE")
            self.varset(c, "AMDCAUSE", "LONGGREETING-1500-1500")
        elif self.outcome == "fax":
            self.varset(c, "FAXEXTEN", c.exten)
            c.exten = "fax"
            c.touch()
            self.newexten(c, "NoOp", "fax detected")
        if p["userevents"]:
            self.user_event(c, "Pickup", "")
        if p["status"] is not None:
            if self.app is None:
                self.newexten(c, "Set", f"DIALER_STATUS={p['status']}")
            self.varset(c, "DIALER_STATUS", p["status"])
        app_len = self.app_duration()
        if app_len is not None and app_len <= p["talk"]:
            sim.at(app_len, self.app_over, self.gen)
        else:
            sim.at(p["talk"], self.talk_over, self.gen)

    def app_duration(self):
        """Seconds the Originate's Application runs on its own (Wait(N)); None = until hangup."""
        if self.app is not None and self.app.strip().lower() == "wait":
            try:
                return float(self.appdata or 0) * self.sim.scenario.timescale
            except ValueError:
                return 0.0
        return None

    def app_over(self, g):
        """The Application returned: Asterisk hangs the channel up without a request event."""
        if g != self.gen or self.done:
            return
        c = self.chan
        self.app_end_events()
        self.rtp_varsets(c)
        self.hangup_ev(c, 16)
        if self.style == "pjsip":
            self.devstate(c.device, "NOT_INUSE")
        self.finish(16)

    def next_step(self, g):
        if g != self.gen or self.done:
            return
        c = self.chan
        if self.step_i >= len(self.steps):
            self.pending_response()
            return self.local_hangup()
        app, args = self.steps[self.step_i]
        self.step_i += 1
        c.priority = self.priority + self.step_i - 1
        c.touch()
        args = self.substitute(args)
        self.newexten(c, app, args)
        lapp = app.lower()
        self.current_app = lapp
        delay = 0.0
        if lapp == "set":
            self.set_app(c, args)
        elif lapp == "wait":
            delay = self.wait_seconds(args)
        elif lapp == "userevent":
            name, _, rest = args.partition(",")
            body = "".join(h.strip() + "\r\n" for h in rest.split(",") if h.strip())
            self.user_event(c, name.strip(), body)
        elif lapp == "amd":
            self.pending_response()
            return self.sim.at(self.params["amdtime"], self.amd_done, g)
        elif lapp == "hangup":
            self.pending_response()
            return self.local_hangup()
        if delay > 0:
            self.pending_response()
        self.sim.at(delay, self.next_step, g)

    def wait_seconds(self, args):
        """Wait(N) of a scenario dialplan, scaled by the scenario's timescale."""
        try:
            return float(args or 0) * self.sim.scenario.timescale
        except ValueError:
            return 0.0

    def set_app(self, chan, args):
        name, _, value = args.partition("=")
        self.varset(chan, name.strip(), value)

    def amd_result(self):
        p = self.params
        status = p["amd"] or ("MACHINE" if self.outcome == "machine" else "HUMAN")
        cause = p["amdcause"]
        if cause is None:
            cause = {"MACHINE": "LONGGREETING-1500-1500", "HUMAN": "HUMAN-300-300",
                     "NOTSURE": "TOOLONG-4900"}.get(status, "")
        return status, cause

    def amd_done(self, g):
        if g != self.gen or self.done:
            return
        status, cause = self.amd_result()
        self.varset(self.chan, "AMDSTATUS", status)
        self.varset(self.chan, "AMDCAUSE", cause)
        self.current_app = None
        self.next_step(g)

    def substitute(self, s):
        if "${" not in s:
            return s
        c = self.chan
        out, i = [], 0
        while True:
            j = s.find("${", i)
            if j < 0:
                out.append(s[i:])
                break
            k = s.find("}", j)
            if k < 0:
                out.append(s[i:])
                break
            out.append(s[i:j])
            name = s[j + 2:k]
            out.append(c.name if name == "CHANNEL" else c.vars.get(name, ""))
            i = k + 1
        return "".join(out)

    def app_end_events(self):
        p = self.params
        if p["userevents"] and self.answer_t is not None:
            dur = int(round(self.sim.wallclock() - self.answer_t))
            result = p["result"] if p["result"] is not None else (p["status"] or "")
            self.user_event(self.chan, "Hangup", f"Duration: {dur}\r\nResult: {result}\r\n")

