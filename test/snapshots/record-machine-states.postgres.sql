select id, plant_id, line_id, name, kind, ideal_cycle_seconds, rate_factor, status, status_since from machines where ($1::text is null or id = any($1::text::int[])) and ($2::text is null or plant_id = any($2::text::int[])) order by id

begin

insert into machine_states (machine_id, status, at) select machine_id, status, at from unnest($1::text::int[], $2::text::machine_status[], $3::text::timestamptz[]) as u(machine_id, status, at) on conflict (machine_id, at) do update set status = excluded.status, recorded_at = now()

update machines m set status = x.status, status_since = x.at from (select distinct on (machine_id) machine_id, status, at from unnest($1::text::int[], $2::text::machine_status[], $3::text::timestamptz[]) as u(machine_id, status, at) order by machine_id, at desc) x where m.id = x.machine_id and (m.status_since is null or m.status_since <= x.at) returning m.id, m.status_since

select u.i::int as i, (select s.status from machine_states s where s.machine_id = u.machine_id and s.at < u.at order by s.at desc limit 1) as status from unnest($1::text::int[], $2::text::timestamptz[]) with ordinality as u(machine_id, at, i)

savepoint plantgraph_listener

select "id", "plant_id", "machine_id", "name", "kind", "severity", "metric", "comparator", "threshold", "for_seconds", "status", "model", "replan", "auto_resolve", "enabled", "created_at", "updated_at" from "alert_rules" where (("alert_rules"."plant_id" in ($1)) and ("alert_rules"."enabled" = $2))

release savepoint plantgraph_listener

commit
