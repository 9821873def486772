-- Untagged images and what each costs per month by its own size (signatures and other referrers left out).
-- Parameters: edit the literals in the "parameters" CTE (Athena named queries take no bind parameters).
-- The date is read from the partition list and compared with the string partition column, so Athena reads that date's objects only.
-- The cost uses the image's size at the repository's price; layers shared with other images are
-- counted for each of them, so the sum can exceed what deleting the images would save.
WITH parameters AS (
    SELECT CAST(NULL AS varchar) AS report_date -- NULL: the latest report date; or 'YYYY-MM-DD'
),
report AS (
    SELECT coalesce(p.report_date, (SELECT max(d.report_date) FROM "images_summary$partitions" AS d)) AS report_date
    FROM parameters AS p
)
SELECT
    i.report_date,
    i.account_id,
    i.region,
    i.repository_name,
    i.image_digest,
    i.image_status,
    i.image_pushed_at,
    i.days_since_last_pull,
    i.image_size_mb,
    round(i.image_size_bytes / power(2, 30) * r.price_per_gb_month_usd, 4) AS monthly_cost_usd
FROM images_summary_typed AS i
JOIN report ON i.report_partition = report.report_date
LEFT JOIN repositories_summary_typed AS r
    ON r.report_partition = i.report_partition
    AND r.account_id = i.account_id
    AND r.region = i.region
    AND r.repository_name = i.repository_name
WHERE cardinality(i.image_tags) = 0 AND i.subject_manifest_digest IS NULL
ORDER BY monthly_cost_usd DESC, i.image_size_bytes DESC, i.account_id, i.region, i.repository_name, i.image_digest
