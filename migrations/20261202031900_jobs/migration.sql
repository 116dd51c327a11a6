CREATE TYPE "job_status" AS ENUM('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" serial PRIMARY KEY,
	"kind" text NOT NULL,
	"status" "job_status" DEFAULT 'QUEUED'::"job_status" NOT NULL,
	"plant_id" integer,
	"created_by" text NOT NULL,
	"created_by_key_id" integer,
	"params" jsonb DEFAULT '{}' NOT NULL,
	"result" jsonb,
	"error" text,
	"progress" double precision DEFAULT 0 NOT NULL,
	"message" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 3 NOT NULL,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"revision" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "jobs_queued_idx" ON "jobs" ("kind","id") WHERE status = 'QUEUED';--> statement-breakpoint
CREATE INDEX "jobs_running_lease_idx" ON "jobs" ("lease_until") WHERE status = 'RUNNING';--> statement-breakpoint
CREATE INDEX "jobs_plant_status_idx" ON "jobs" ("plant_id","status","id");--> statement-breakpoint
CREATE INDEX "jobs_status_idx" ON "jobs" ("status","id");--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE CASCADE;