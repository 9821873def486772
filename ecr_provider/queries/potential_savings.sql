-- Potential savings per repository: what its lifecycle policy (or, without one, the recommended policy) would expire and the monthly cost that saves.
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
    r.lifecycle_policy_source,
    r.lifecycle_expiring_images,
    round(r.lifecycle_expiring_bytes / power(2, 30), 3) AS lifecycle_expiring_gb,
    r.lifecycle_monthly_savings_usd,
    r.monthly_storage_cost_usd,
    round(100 * r.lifecycle_monthly_savings_usd / nullif(r.monthly_storage_cost_usd, 0), 1) AS savings_percent
FROM repositories_summary_typed AS r
JOIN report ON r.report_partition = report.report_date
WHERE r.lifecycle_monthly_savings_usd > 0
ORDER BY r.lifecycle_monthly_savings_usd DESC, r.account_id, r.region, r.repository_name
