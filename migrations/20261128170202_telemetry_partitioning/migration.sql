-- drizzle-kit does not model partitioning: replace the plain (still empty) telemetry table it created with a table
-- range-partitioned on ts, with identical columns and index. Daily partitions (telemetry_pYYYYMMDD) are created
-- ahead at run time (src/telemetry/partitions.ts); the default partition catches any point whose day has no
-- partition yet, so no point is ever lost to a missing partition.
DROP TABLE "telemetry";--> statement-breakpoint
CREATE TABLE "telemetry" (
	"machine_id" integer NOT NULL,
	"metric" text NOT NULL,
	"ts" timestamp with time zone NOT NULL,
	"value" double precision NOT NULL
) PARTITION BY RANGE ("ts");--> statement-breakpoint
CREATE UNIQUE INDEX "telemetry_series_ts_uq" ON "telemetry" ("machine_id","metric","ts");--> statement-breakpoint
CREATE TABLE "telemetry_default" PARTITION OF "telemetry" DEFAULT;
