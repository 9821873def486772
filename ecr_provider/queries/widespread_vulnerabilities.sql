-- Vulnerabilities by how many images carry them, most severe first (the image_findings report: needs include_findings).
-- Parameters: edit the literals in the "parameters" CTE (Athena named queries take no bind parameters).
-- The date is read from the partition list and compared with the string partition column, so Athena reads that date's objects only.
WITH parameters AS (
    SELECT CAST(NULL AS varchar) AS report_date -- NULL: the latest report date; or 'YYYY-MM-DD'
),
report AS (
    SELECT coalesce(p.report_date, (SELECT max(d.report_date) FROM "image_findings$partitions" AS d)) AS report_date
    FROM parameters AS p
)
SELECT
    f.report_date,
    f.finding_name,
    f.severity,
    max(f.cvss_score) AS cvss_score,
    count(DISTINCT f.account_id || '/' || f.region || '/' || f.image_digest) AS affected_images,
    count(DISTINCT f.account_id || '/' || f.region || '/' || f.repository_name) AS affected_repositories,
    array_join(array_sort(array_agg(DISTINCT f.package_name)), ', ') AS packages,
    count(f.fixed_version) AS findings_with_a_fix,
    max(f.reference_url) AS reference_url
FROM image_findings_typed AS f
JOIN report ON f.report_partition = report.report_date
GROUP BY f.report_date, f.finding_name, f.severity
ORDER BY
    CASE f.severity
        WHEN 'CRITICAL' THEN 1
        WHEN 'HIGH' THEN 2
        WHEN 'MEDIUM' THEN 3
        WHEN 'LOW' THEN 4
        WHEN 'INFORMATIONAL' THEN 5
        ELSE 6
    END,
    affected_images DESC,
    f.finding_name
