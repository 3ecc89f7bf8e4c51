"""Campaign rules: calling windows (timeslot, pause), time zones, the filter parser,
f_* filters, claim selection and `explain`. Pure logic: no database, no AMI."""
