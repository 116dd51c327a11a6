select id, plant_id, line_id, name, kind, ideal_cycle_seconds, rate_factor, status, status_since from machines where ($1::text is null or id = any($1::text::int[])) and ($2::text is null or plant_id = any($2::text::int[])) order by id

insert into telemetry_batches (batch_id, points) values ($1, $2) on conflict do nothing returning batch_id
