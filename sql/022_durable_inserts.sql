-- 022: what ClickHouse acknowledges is on disk: an insert is fsynced before it is confirmed, and a merge's old parts
-- are kept until the merged one surely is.
--
-- Why. The engine's defaults here (chdb's, and a server's for fsync) confirm an insert once its part is written to the
-- page cache, and the embedded engine deletes a merge's old parts at once (old_parts_lifetime 0). A process crash
-- loses nothing (the kernel writes the cache out), but a power cut or a kernel crash could lose events already
-- answered 202, a merge's rows, or the fan-out's tables while its watermark survived (the derived rows of those events
-- never made again). Nabız runs on one node, with no replica to recover from: every table that is not scratch now
-- fsyncs its parts and their directory at insert, and keeps a merge's old parts for 8 minutes (ClickHouse's own
-- default, which lets a server restarting after a power cut fall back to them).
--
-- Cost: one fsync per insert, a few milliseconds (docs/performance.md); ingest coalesces requests into few inserts,
-- and the KPI worker writes a few per pass.

ALTER TABLE alerts MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE audit_log MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE boards MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE credential_usage MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE display_settings MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE displays MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE event_ids MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE events MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE floor_messages MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE ingest_keys MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE kpi_agent_settings MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE kpi_agent_state MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE kpi_center_settings MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE kpi_contact_events MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE kpi_customer_events MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE kpi_measure_settings MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE kpi_measures MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE kpi_progress MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE kpi_queue_settings MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE rejected_events MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE thresholds MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
ALTER TABLE users MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 480;
