-- Storage and cost per repository over the last 30 report dates, with the change since the previous report date and since 7 and 30 days before.
-- Parameters: edit the literals in the "parameters" CTE (Athena named queries take no bind parameters).
-- A change is empty when the repository has no row on the date compared with. The dates are read from the partition list.
WITH parameters AS (
    SELECT 30 AS report_dates
),
dates AS (
    SELECT
        d.report_date AS report_partition,
        CAST(lag(d.report_date) OVER (ORDER BY d.report_date) AS date) AS previous_report_date,
        row_number() OVER (ORDER BY d.report_date DESC) AS recency
    FROM "repositories_summary$partitions" AS d
),
shown AS (
    SELECT d.report_partition, d.previous_report_date
    FROM dates AS d
    CROSS JOIN parameters AS p
    WHERE d.recency <= p.report_dates
)
SELECT
    r.report_date,
    r.account_id,
    r.region,
    r.repository_name,
    r.billable_size_bytes,
    round(r.billable_size_bytes / power(2, 30), 3) AS billable_size_gb,
    r.monthly_storage_cost_usd,
    shown.previous_report_date,
    r.billable_size_bytes - prev.billable_size_bytes AS size_change_bytes,
    round(r.monthly_storage_cost_usd - prev.monthly_storage_cost_usd, 4) AS cost_change_usd,
    r.billable_size_bytes - week_ago.billable_size_bytes AS size_change_7d_bytes,
    round(r.monthly_storage_cost_usd - week_ago.monthly_storage_cost_usd, 4) AS cost_change_7d_usd,
    r.billable_size_bytes - month_ago.billable_size_bytes AS size_change_30d_bytes,
    round(r.monthly_storage_cost_usd - month_ago.monthly_storage_cost_usd, 4) AS cost_change_30d_usd
FROM repositories_summary_typed AS r
JOIN shown ON r.report_partition = shown.report_partition
LEFT JOIN repositories_summary_typed AS prev
    ON prev.report_date = shown.previous_report_date
    AND prev.account_id = r.account_id
    AND prev.region = r.region
    AND prev.repository_name = r.repository_name
LEFT JOIN repositories_summary_typed AS week_ago
    ON week_ago.report_date = r.report_date - INTERVAL '7' DAY
    AND week_ago.account_id = r.account_id
    AND week_ago.region = r.region
    AND week_ago.repository_name = r.repository_name
LEFT JOIN repositories_summary_typed AS month_ago
    ON month_ago.report_date = r.report_date - INTERVAL '30' DAY
    AND month_ago.account_id = r.account_id
    AND month_ago.region = r.region
    AND month_ago.repository_name = r.repository_name
ORDER BY r.account_id, r.region, r.repository_name, r.report_date DESC
