select id, plant_id, line_id, name, kind, ideal_cycle_seconds, rate_factor, status, status_since from machines where ($1::text is null or id = any($1::text::int[])) and ($2::text is null or plant_id = any($2::text::int[])) order by id

insert into production_counts (machine_id, at, good, scrap) select * from unnest($1::text::int[], $2::text::timestamptz[], $3::text::int[], $4::text::int[]) on conflict (machine_id, at) do update set good = excluded.good, scrap = excluded.scrap, recorded_at = now()
