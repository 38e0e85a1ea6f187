-- DMARC aggregate reports, one row each, and their records. Portable SQL: the same text runs
-- on SQLite and PostgreSQL. A report is known by its reporter, its report id and the policy
-- domain (RFC 9990 §3.1.1.2: the report id is unique per reporter), joined into report_key.
CREATE TABLE IF NOT EXISTS aggregate_reports (
    report_key TEXT PRIMARY KEY,
    org_name TEXT NOT NULL,
    org_email TEXT,
    report_id TEXT NOT NULL,
    policy_domain TEXT NOT NULL,
    begin_date BIGINT NOT NULL,
    end_date BIGINT NOT NULL,
    xml_schema TEXT NOT NULL,
    policy_p TEXT,
    policy_sp TEXT,
    policy_np TEXT,
    adkim TEXT,
    aspf TEXT,
    testing TEXT,
    warnings TEXT NOT NULL,
    extensions TEXT NOT NULL,
    stored_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS aggregate_records (
    report_key TEXT NOT NULL REFERENCES aggregate_reports (report_key),
    row_number BIGINT NOT NULL,
    source_ip TEXT NOT NULL,
    message_count BIGINT NOT NULL,
    disposition TEXT NOT NULL,
    dkim_aligned TEXT,
    spf_aligned TEXT,
    header_from TEXT NOT NULL,
    envelope_from TEXT,
    envelope_to TEXT,
    override_reasons TEXT NOT NULL,
    auth_results TEXT NOT NULL,
    PRIMARY KEY (report_key, row_number)
);
CREATE INDEX IF NOT EXISTS aggregate_reports_by_domain ON aggregate_reports (policy_domain, begin_date);
