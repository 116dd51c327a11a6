CREATE TYPE "model_task" AS ENUM('REGRESSION', 'CLASSIFICATION', 'FORECAST');--> statement-breakpoint
CREATE TYPE "job_status" AS ENUM('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');--> statement-breakpoint
CREATE TYPE "dataset_source" AS ENUM('CSV', 'TWIN');--> statement-breakpoint
CREATE TABLE "model_alias_history" (
	"id" serial PRIMARY KEY,
	"name" text NOT NULL,
	"alias" text NOT NULL,
	"model_id" integer NOT NULL,
	"since" timestamp with time zone NOT NULL,
	"until" timestamp with time zone,
	"set_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "model_aliases" (
	"name" text,
	"alias" text,
	"model_id" integer NOT NULL,
	"set_at" timestamp with time zone NOT NULL,
	"set_by" text NOT NULL,
	CONSTRAINT "model_aliases_pkey" PRIMARY KEY("name","alias")
);
--> statement-breakpoint
CREATE TABLE "model_blobs" (
	"model_id" integer PRIMARY KEY,
	"bytes" bytea NOT NULL
);
--> statement-breakpoint
CREATE TABLE "model_served_bins" (
	"model_id" integer,
	"hour" timestamp with time zone,
	"feature" text,
	"counts" double precision[] NOT NULL,
	CONSTRAINT "model_served_bins_pkey" PRIMARY KEY("model_id","hour","feature")
);
--> statement-breakpoint
CREATE TABLE "model_shadow_outputs" (
	"id" serial PRIMARY KEY,
	"production_id" integer NOT NULL,
	"candidate_id" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"machine_id" integer,
	"production" double precision,
	"candidate" double precision,
	"production_label" text,
	"candidate_label" text
);
--> statement-breakpoint
CREATE TABLE "models" (
	"id" serial PRIMARY KEY,
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"task" "model_task" NOT NULL,
	"source" text NOT NULL,
	"plant_id" integer,
	"sha256" text NOT NULL,
	"size_bytes" integer NOT NULL,
	"inputs" jsonb NOT NULL,
	"outputs" jsonb NOT NULL,
	"serving" jsonb NOT NULL,
	"features" jsonb,
	"feature_definitions" jsonb,
	"spec" jsonb,
	"profile" jsonb,
	"metrics" jsonb DEFAULT '{}' NOT NULL,
	"params" jsonb,
	"dataset_id" integer,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
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
CREATE TABLE "dataset_chunks" (
	"dataset_id" integer,
	"seq" integer,
	"rows" integer NOT NULL,
	"bytes" bytea NOT NULL,
	CONSTRAINT "dataset_chunks_pkey" PRIMARY KEY("dataset_id","seq")
);
--> statement-breakpoint
CREATE TABLE "datasets" (
	"id" serial PRIMARY KEY,
	"name" text NOT NULL,
	"plant_id" integer,
	"source" "dataset_source" NOT NULL,
	"columns" jsonb NOT NULL,
	"row_count" integer NOT NULL,
	"definition" jsonb,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "model_alias_history_name" ON "model_alias_history" ("name","alias","since");--> statement-breakpoint
CREATE INDEX "model_shadow_outputs_pair" ON "model_shadow_outputs" ("candidate_id","at");--> statement-breakpoint
CREATE UNIQUE INDEX "models_name_version" ON "models" ("name","version");--> statement-breakpoint
CREATE INDEX "jobs_queued_idx" ON "jobs" ("kind","id") WHERE status = 'QUEUED';--> statement-breakpoint
CREATE INDEX "jobs_running_lease_idx" ON "jobs" ("lease_until") WHERE status = 'RUNNING';--> statement-breakpoint
CREATE INDEX "jobs_plant_status_idx" ON "jobs" ("plant_id","status","id");--> statement-breakpoint
CREATE INDEX "jobs_status_idx" ON "jobs" ("status","id");--> statement-breakpoint
CREATE INDEX "datasets_plant_idx" ON "datasets" ("plant_id","id");--> statement-breakpoint
ALTER TABLE "model_alias_history" ADD CONSTRAINT "model_alias_history_model_id_models_id_fkey" FOREIGN KEY ("model_id") REFERENCES "models"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "model_aliases" ADD CONSTRAINT "model_aliases_model_id_models_id_fkey" FOREIGN KEY ("model_id") REFERENCES "models"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "model_blobs" ADD CONSTRAINT "model_blobs_model_id_models_id_fkey" FOREIGN KEY ("model_id") REFERENCES "models"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "model_served_bins" ADD CONSTRAINT "model_served_bins_model_id_models_id_fkey" FOREIGN KEY ("model_id") REFERENCES "models"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "model_shadow_outputs" ADD CONSTRAINT "model_shadow_outputs_production_id_models_id_fkey" FOREIGN KEY ("production_id") REFERENCES "models"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "model_shadow_outputs" ADD CONSTRAINT "model_shadow_outputs_candidate_id_models_id_fkey" FOREIGN KEY ("candidate_id") REFERENCES "models"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "models" ADD CONSTRAINT "models_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "dataset_chunks" ADD CONSTRAINT "dataset_chunks_dataset_id_datasets_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE CASCADE;