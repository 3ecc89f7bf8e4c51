"""The `state` column of a campaign table: where a lead stands, kept by the store only.

  READY    retryable and callable now (its next-call time was reached when last looked at)
  WAITING  retryable, next call at `nextcall` (epoch s); promoted to READY by a claim
  ACTIVE   claimed by `owner` until `lease` (epoch s; copied to `nextcall` for the index)
  FINAL    a final return code; never dialled again
"""
READY, WAITING, ACTIVE, FINAL = 0, 1, 2, 3
ALL = (READY, WAITING, ACTIVE, FINAL)
