-- Untagged images and what each costs per month by its own size (signatures and other referrers left out).
-- Parameters: edit the literals in the "parameters" CTE (Athena named queries take no bind parameters).
-- The cost uses the image's size at the repository's price; layers shared with other images are
-- counted for each of them, so the sum can exceed what deleting the images would save.
WITH parameters AS (
    SELECT CAST(NULL AS date) AS report_date -- NULL: the latest loaded report date
),
report AS (
    SELECT coalesce(p.report_date, (SELECT max(i.report_date) FROM images_summary_typed AS i)) AS report_date
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
JOIN report ON i.report_date = report.report_date
LEFT JOIN repositories_summary_typed AS r
    ON r.report_date = i.report_date
    AND r.account_id = i.account_id
    AND r.region = i.region
    AND r.repository_name = i.repository_name
WHERE cardinality(i.image_tags) = 0 AND i.subject_manifest_digest IS NULL
ORDER BY monthly_cost_usd DESC, i.image_size_bytes DESC, i.account_id, i.region, i.repository_name, i.image_digest
