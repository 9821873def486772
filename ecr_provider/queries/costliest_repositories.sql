-- Costliest repositories: the repositories with the highest monthly storage cost on one report date.
-- Parameters: edit the literals in the "parameters" CTE (Athena named queries take no bind parameters).
-- The date is read from the partition list and compared with the string partition column, so Athena reads that date's objects only.
WITH parameters AS (
    SELECT
        CAST(NULL AS varchar) AS report_date, -- NULL: the latest report date; or 'YYYY-MM-DD'
        20 AS top_n
),
report AS (
    SELECT
        coalesce(p.report_date, (SELECT max(d.report_date) FROM "repositories_summary$partitions" AS d)) AS report_date,
        p.top_n
    FROM parameters AS p
),
ranked AS (
    SELECT
        row_number() OVER (
            ORDER BY r.monthly_storage_cost_usd DESC, r.account_id, r.region, r.repository_name
        ) AS cost_rank,
        r.report_date,
        r.account_id,
        r.region,
        r.repository_name,
        r.total_images,
        round(r.billable_size_bytes / power(2, 30), 3) AS billable_size_gb,
        r.monthly_storage_cost_usd,
        r.days_since_last_pull,
        r.lifecycle_policy_text IS NOT NULL AS has_lifecycle_policy,
        report.top_n
    FROM repositories_summary_typed AS r
    JOIN report ON r.report_partition = report.report_date
)
SELECT
    cost_rank,
    report_date,
    account_id,
    region,
    repository_name,
    total_images,
    billable_size_gb,
    monthly_storage_cost_usd,
    days_since_last_pull,
    has_lifecycle_policy
FROM ranked
WHERE cost_rank <= top_n
ORDER BY cost_rank
