-- Reclaimable storage per repository: images nothing runs or needs and nobody pulled or pushed lately, what deleting them saves a month, and the images in use that pull time alone would have called unused.
-- Parameters: edit the literals in the "parameters" CTE (Athena named queries take no bind parameters).
-- Each image's verdict and reason are in images_summary (cleanup_verdict, cleanup_reason); the bytes count only blobs no kept image shares.
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
    r.reclaimable_images,
    round(r.reclaimable_bytes / power(2, 30), 3) AS reclaimable_gb,
    r.reclaimable_monthly_savings_usd,
    r.monthly_storage_cost_usd,
    round(100 * r.reclaimable_monthly_savings_usd / nullif(r.monthly_storage_cost_usd, 0), 1) AS savings_percent,
    r.in_use_images,
    r.in_use_not_recently_pulled_images,
    r.reclaim_after_days
FROM repositories_summary_typed AS r
JOIN report ON r.report_partition = report.report_date
WHERE r.reclaimable_images > 0 OR r.in_use_not_recently_pulled_images > 0
ORDER BY r.reclaimable_monthly_savings_usd DESC, r.in_use_not_recently_pulled_images DESC, r.account_id, r.region, r.repository_name
