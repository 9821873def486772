-- Repositories nobody pulled in the last N days (default 90) or ever, with their monthly storage cost.
-- Parameters: edit the literals in the "parameters" CTE (Athena named queries take no bind parameters).
-- The date is read from the partition list and compared with the string partition column, so Athena reads that date's objects only.
WITH parameters AS (
    SELECT
        CAST(NULL AS varchar) AS report_date, -- NULL: the latest report date; or 'YYYY-MM-DD'
        90 AS min_days_since_last_pull
),
report AS (
    SELECT
        coalesce(p.report_date, (SELECT max(d.report_date) FROM "repositories_summary$partitions" AS d)) AS report_date,
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
JOIN report ON r.report_partition = report.report_date
WHERE NOT r.has_been_pulled OR r.days_since_last_pull >= report.min_days_since_last_pull
ORDER BY r.monthly_storage_cost_usd DESC, r.account_id, r.region, r.repository_name
