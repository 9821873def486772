-- Storage per registry (account and region): blob mounting, bytes held once per registry and once per repository, what enabling blob mounting could save on new pushes, reclaimable and archived storage.
-- Parameters: edit the literals in the "parameters" CTE (Athena named queries take no bind parameters).
-- Blob figures are NULL where manifests were not read; blob_mounting is NULL where ecr:GetAccountSetting could not be read. Existing copies stay until re-pushed.
WITH parameters AS (
    SELECT CAST(NULL AS varchar) AS report_date -- NULL: the latest report date; or 'YYYY-MM-DD'
),
report AS (
    SELECT coalesce(p.report_date, (SELECT max(d.report_date) FROM "registries_summary$partitions" AS d)) AS report_date
    FROM parameters AS p
)
SELECT
    g.report_date,
    g.account_id,
    g.region,
    g.blob_mounting,
    g.repositories,
    g.images,
    round(g.repository_unique_blob_bytes / power(2, 30), 3) AS repository_unique_gb,
    round(g.registry_unique_blob_bytes / power(2, 30), 3) AS registry_unique_gb,
    round(g.cross_repository_duplicate_bytes / power(2, 30), 3) AS cross_repository_duplicate_gb,
    CASE
        WHEN g.blob_mounting = 'ENABLED' THEN CAST(0 AS double)
        ELSE round(g.cross_repository_duplicate_bytes / power(2, 30) * g.price_per_gb_month_usd, 4)
    END AS blob_mounting_could_save_usd,
    g.monthly_storage_cost_usd,
    g.cost_basis,
    round(g.reclaimable_bytes / power(2, 30), 3) AS reclaimable_gb,
    g.reclaimable_cost_usd,
    round(g.archived_bytes / power(2, 30), 3) AS archived_gb
FROM registries_summary_typed AS g
JOIN report ON g.report_partition = report.report_date
ORDER BY g.monthly_storage_cost_usd DESC, g.account_id, g.region
