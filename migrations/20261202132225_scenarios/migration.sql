CREATE TABLE "scenario_changes" (
	"id" serial PRIMARY KEY,
	"scenario_id" integer NOT NULL,
	"kind" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "scenarios" (
	"id" serial PRIMARY KEY,
	"plant_id" integer NOT NULL,
	"name" text NOT NULL,
	"status" text DEFAULT 'OPEN' NOT NULL,
	"revision" integer DEFAULT 0 NOT NULL,
	"base_version" bigint NOT NULL,
	"basis" jsonb DEFAULT '{}' NOT NULL,
	"origin" jsonb,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"closed_at" timestamp with time zone,
	"closed_by" text
);
--> statement-breakpoint
ALTER TABLE "plants" ADD COLUMN "plan_version" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "alert_rules" ADD COLUMN "replan" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "scheduled_operations" ADD COLUMN "scenario_order_id" integer;--> statement-breakpoint
ALTER TABLE "schedules" ADD COLUMN "scenario_id" integer;--> statement-breakpoint
ALTER TABLE "scheduled_operations" ALTER COLUMN "order_id" DROP NOT NULL;--> statement-breakpoint
CREATE INDEX "schedules_scenario_idx" ON "schedules" ("scenario_id","id");--> statement-breakpoint
CREATE INDEX "scenario_changes_scenario_idx" ON "scenario_changes" ("scenario_id","id");--> statement-breakpoint
CREATE INDEX "scenarios_plant_idx" ON "scenarios" ("plant_id","id");--> statement-breakpoint
ALTER TABLE "scheduled_operations" ADD CONSTRAINT "scheduled_operations_scenario_order_id_scenario_changes_id_fkey" FOREIGN KEY ("scenario_order_id") REFERENCES "scenario_changes"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_scenario_id_scenarios_id_fkey" FOREIGN KEY ("scenario_id") REFERENCES "scenarios"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "scenario_changes" ADD CONSTRAINT "scenario_changes_scenario_id_scenarios_id_fkey" FOREIGN KEY ("scenario_id") REFERENCES "scenarios"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "scenarios" ADD CONSTRAINT "scenarios_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "scheduled_operations" ADD CONSTRAINT "scheduled_operations_one_order" CHECK ((order_id is null) <> (scenario_order_id is null));