-- Images with CRITICAL or HIGH findings, by repository: how many images and findings, the newest push and pull.
-- Parameters: edit the literals in the "parameters" CTE (Athena named queries take no bind parameters).
-- The date is read from the partition list and compared with the string partition column, so Athena reads that date's objects only.
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
    count(*) AS affected_images,
    count_if(i.image_status = 'ACTIVE') AS affected_active_images,
    sum(i.findings_critical) AS critical_findings,
    sum(i.findings_high) AS high_findings,
    max(i.image_pushed_at) AS newest_affected_image_pushed_at,
    max(i.last_recorded_pull_time) AS last_affected_image_pull_time
FROM images_summary_typed AS i
JOIN report ON i.report_partition = report.report_date
WHERE i.findings_critical > 0 OR i.findings_high > 0
GROUP BY i.report_date, i.account_id, i.region, i.repository_name
ORDER BY critical_findings DESC, high_findings DESC, i.account_id, i.region, i.repository_name
