-- What this receiver recorded of its own DMARC evaluations, one row each (the data of the
-- aggregate reports it owes domain owners, RFC 9990), and the reports made from them. The
-- columns a report is chosen by are columns, the rest of the row is JSON. A row's key is made
-- when it is recorded, so writing the same rows twice (a retry, a replayed spool) stores
-- them once.
CREATE TABLE IF NOT EXISTS dmarc_evaluations (
    row_key TEXT PRIMARY KEY,
    evaluated_at BIGINT NOT NULL,
    policy_domain TEXT NOT NULL,
    evaluation TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dmarc_evaluations_by_domain ON dmarc_evaluations (policy_domain, evaluated_at);
CREATE TABLE IF NOT EXISTS reports_made (
    policy_domain TEXT NOT NULL,
    begin_date BIGINT NOT NULL,
    end_date BIGINT NOT NULL,
    report_id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    made_at BIGINT NOT NULL,
    PRIMARY KEY (policy_domain, begin_date)
);
