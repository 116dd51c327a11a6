select id, plant_id from machines where id = any($1::text::int[])

insert into production_counts (machine_id, at, good, scrap) select * from unnest($1::text::int[], $2::text::timestamptz[], $3::text::int[], $4::text::int[]) on conflict (machine_id, at) do update set good = excluded.good, scrap = excluded.scrap, recorded_at = now()
