select id, plant_id from machines where id = any($1::text::int[])

insert into telemetry_batches (batch_id, points) values ($1, $2) on conflict do nothing returning batch_id
