CREATE TABLE "telemetry_series" (
	"machine_id" integer,
	"metric" text,
	"first_ts" timestamp with time zone NOT NULL,
	"last_ts" timestamp with time zone NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "telemetry_series_pkey" PRIMARY KEY("machine_id","metric")
);
--> statement-breakpoint
ALTER TABLE "telemetry_series" ADD CONSTRAINT "telemetry_series_machine_id_machines_id_fkey" FOREIGN KEY ("machine_id") REFERENCES "machines"("id") ON DELETE CASCADE;--> statement-breakpoint
INSERT INTO "telemetry_series" ("machine_id", "metric", "first_ts", "last_ts", "count")
SELECT t."machine_id", t."metric", min(t."ts"), max(t."ts"), count(*) FROM "telemetry" t JOIN "machines" m ON m."id" = t."machine_id" GROUP BY t."machine_id", t."metric";
