-- Repositories nobody pulled in the last N days (default 90) or ever, with their monthly storage cost.
-- Parameters: edit the literals in the "parameters" CTE (Athena named queries take no bind parameters).
WITH parameters AS (
    SELECT
        CAST(NULL AS date) AS report_date, -- NULL: the latest loaded report date
        90 AS min_days_since_last_pull
),
report AS (
    SELECT
        coalesce(p.report_date, (SELECT max(r.report_date) FROM repositories_summary_typed AS r)) AS report_date,
        p.min_days_since_last_pull
    FROM parameters AS p
)
SELECT
    r.report_date,
    r.account_id,
    r.region,
    r.repository_name,
    NOT r.has_been_pulled AS never_pulled,
    r.last_recorded_pull_time,
    r.days_since_last_pull,
    r.total_images,
    round(r.billable_size_bytes / power(2, 30), 3) AS billable_size_gb,
    r.monthly_storage_cost_usd
FROM repositories_summary_typed AS r
JOIN report ON r.report_date = report.report_date
WHERE NOT r.has_been_pulled OR r.days_since_last_pull >= report.min_days_since_last_pull
ORDER BY r.monthly_storage_cost_usd DESC, r.account_id, r.region, r.repository_name
