-- Repositories without a lifecycle policy, with their untagged images and monthly storage cost.
-- Parameters: edit the literals in the "parameters" CTE (Athena named queries take no bind parameters).
-- The date is read from the partition list and compared with the string partition column, so Athena reads that date's objects only.
WITH parameters AS (
    SELECT CAST(NULL AS varchar) AS report_date -- NULL: the latest report date; or 'YYYY-MM-DD'
),
report AS (
    SELECT coalesce(p.report_date, (SELECT max(d.report_date) FROM "repositories_summary$partitions" AS d)) AS report_date
    FROM parameters AS p
)
SELECT
    r.report_date,
    r.account_id,
    r.region,
    r.repository_name,
    r.total_images,
    r.untagged_images,
    round(r.billable_size_bytes / power(2, 30), 3) AS billable_size_gb,
    r.monthly_storage_cost_usd,
    r.days_since_last_pull
FROM repositories_summary_typed AS r
JOIN report ON r.report_partition = report.report_date
WHERE r.lifecycle_policy_text IS NULL
ORDER BY r.monthly_storage_cost_usd DESC, r.account_id, r.region, r.repository_name
