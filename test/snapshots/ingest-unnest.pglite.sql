select id, plant_id, line_id, name, kind, ideal_cycle_seconds, rate_factor, status, status_since from machines where ($1::text is null or id = any($1::text::int[])) and ($2::text is null or plant_id = any($2::text::int[])) order by id

insert into telemetry_batches (batch_id, points) values ($1, $2) on conflict do nothing returning batch_id

insert into telemetry (machine_id, metric, ts, value) select machine_id, metric, to_timestamp(ms / 1000), value from unnest($1::text::int[], $2::text::text[], $3::text::float8[], $4::text::float8[]) as u(machine_id, metric, ms, value)

with roll as ( insert into telemetry_1m as r (machine_id, metric, minute, count, sum, min, max) select machine_id, metric, to_timestamp(minute / 1000), count, sum, min, max from unnest($1::text::int[], $2::text::text[], $3::text::float8[], $4::text::int[], $5::text::float8[], $6::text::float8[], $7::text::float8[]) as u(machine_id, metric, minute, count, sum, min, max) on conflict (machine_id, metric, minute) do update set count = r.count + excluded.count, sum = r.sum + excluded.sum, min = least(r.min, excluded.min), max = greatest(r.max, excluded.max) ), series as ( insert into telemetry_series as s (machine_id, metric, first_ts, last_ts, count) select machine_id, metric, to_timestamp(first_ms / 1000), to_timestamp(ms / 1000), n from unnest($8::text::int[], $9::text::text[], $10::text::float8[], $12::text::float8[], $13::text::int[]) as u(machine_id, metric, ms, first_ms, n) on conflict (machine_id, metric) do update set first_ts = least(s.first_ts, excluded.first_ts), last_ts = greatest(s.last_ts, excluded.last_ts), count = s.count + excluded.count ) insert into telemetry_latest as l (machine_id, metric, ts, value) select machine_id, metric, to_timestamp(ms / 1000), value from unnest($8::text::int[], $9::text::text[], $10::text::float8[], $11::text::float8[]) as u(machine_id, metric, ms, value) on conflict (machine_id, metric) do update set ts = excluded.ts, value = excluded.value where excluded.ts > l.ts

savepoint plantgraph_listener

select "id", "plant_id", "machine_id", "name", "kind", "severity", "metric", "comparator", "threshold", "for_seconds", "status", "model", "replan", "auto_resolve", "enabled", "created_at", "updated_at" from "alert_rules" where (("alert_rules"."plant_id" in ($1)) and ("alert_rules"."enabled" = $2))

release savepoint plantgraph_listener
