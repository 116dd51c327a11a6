CREATE TABLE "machine_states" (
	"machine_id" integer,
	"status" "machine_status" NOT NULL,
	"at" timestamp with time zone,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "machine_states_pkey" PRIMARY KEY("machine_id","at")
);
--> statement-breakpoint
CREATE TABLE "production_counts" (
	"machine_id" integer,
	"at" timestamp with time zone,
	"good" integer NOT NULL,
	"scrap" integer NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "production_counts_pkey" PRIMARY KEY("machine_id","at")
);
--> statement-breakpoint
CREATE TABLE "telemetry" (
	"machine_id" integer NOT NULL,
	"metric" text NOT NULL,
	"ts" timestamp with time zone NOT NULL,
	"value" double precision NOT NULL
);
--> statement-breakpoint
CREATE TABLE "telemetry_batches" (
	"batch_id" text PRIMARY KEY,
	"points" integer NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "telemetry_latest" (
	"machine_id" integer,
	"metric" text,
	"ts" timestamp with time zone NOT NULL,
	"value" double precision NOT NULL,
	CONSTRAINT "telemetry_latest_pkey" PRIMARY KEY("machine_id","metric")
);
--> statement-breakpoint
CREATE TABLE "telemetry_1m" (
	"machine_id" integer,
	"metric" text,
	"minute" timestamp with time zone,
	"count" integer NOT NULL,
	"sum" double precision NOT NULL,
	"min" double precision NOT NULL,
	"max" double precision NOT NULL,
	CONSTRAINT "telemetry_1m_pkey" PRIMARY KEY("machine_id","metric","minute")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "telemetry_series_ts_uq" ON "telemetry" ("machine_id","metric","ts");--> statement-breakpoint
CREATE INDEX "telemetry_batches_received_idx" ON "telemetry_batches" ("received_at");--> statement-breakpoint
CREATE INDEX "telemetry_1m_minute_idx" ON "telemetry_1m" ("minute");--> statement-breakpoint
ALTER TABLE "machine_states" ADD CONSTRAINT "machine_states_machine_id_machines_id_fkey" FOREIGN KEY ("machine_id") REFERENCES "machines"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "production_counts" ADD CONSTRAINT "production_counts_machine_id_machines_id_fkey" FOREIGN KEY ("machine_id") REFERENCES "machines"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "telemetry_latest" ADD CONSTRAINT "telemetry_latest_machine_id_machines_id_fkey" FOREIGN KEY ("machine_id") REFERENCES "machines"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "telemetry_1m" ADD CONSTRAINT "telemetry_1m_machine_id_machines_id_fkey" FOREIGN KEY ("machine_id") REFERENCES "machines"("id") ON DELETE CASCADE;