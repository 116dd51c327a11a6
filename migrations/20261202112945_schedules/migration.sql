CREATE TABLE "operation_pins" (
	"id" serial PRIMARY KEY,
	"plant_id" integer NOT NULL,
	"order_id" integer NOT NULL,
	"step_index" integer NOT NULL,
	"machine_id" integer,
	"starts_at" timestamp with time zone,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "scheduled_operations" (
	"id" serial PRIMARY KEY,
	"schedule_id" integer NOT NULL,
	"order_id" integer NOT NULL,
	"step_index" integer NOT NULL,
	"machine_id" integer NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"setup_minutes" double precision DEFAULT 0 NOT NULL,
	"origin" text
);
--> statement-breakpoint
CREATE TABLE "schedules" (
	"id" serial PRIMARY KEY,
	"plant_id" integer NOT NULL,
	"job_id" integer,
	"status" text NOT NULL,
	"objective" text NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"horizon_ends_at" timestamp with time zone NOT NULL,
	"makespan_minutes" double precision NOT NULL,
	"objective_value" double precision NOT NULL,
	"lower_bound" double precision,
	"gap" double precision,
	"solve_seconds" double precision NOT NULL,
	"solver" text NOT NULL,
	"seed" integer NOT NULL,
	"time_limit_seconds" double precision NOT NULL,
	"iterations" integer DEFAULT 0 NOT NULL,
	"options" jsonb DEFAULT '{}' NOT NULL,
	"kpis" jsonb NOT NULL,
	"bottlenecks" jsonb NOT NULL,
	"explanation" jsonb NOT NULL,
	"is_current" boolean DEFAULT false NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"activated_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "machines" ADD COLUMN "rate_factor" double precision DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "plants" ADD COLUMN "planning_horizon_hours" integer DEFAULT 336 NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "operation_pins_op_uq" ON "operation_pins" ("order_id","step_index");--> statement-breakpoint
CREATE INDEX "operation_pins_plant_idx" ON "operation_pins" ("plant_id");--> statement-breakpoint
CREATE INDEX "scheduled_operations_schedule_idx" ON "scheduled_operations" ("schedule_id","order_id","step_index");--> statement-breakpoint
CREATE INDEX "scheduled_operations_machine_idx" ON "scheduled_operations" ("schedule_id","machine_id","starts_at");--> statement-breakpoint
CREATE INDEX "schedules_plant_idx" ON "schedules" ("plant_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "schedules_one_current_uq" ON "schedules" ("plant_id") WHERE is_current;--> statement-breakpoint
ALTER TABLE "operation_pins" ADD CONSTRAINT "operation_pins_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "operation_pins" ADD CONSTRAINT "operation_pins_order_id_orders_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "operation_pins" ADD CONSTRAINT "operation_pins_machine_id_machines_id_fkey" FOREIGN KEY ("machine_id") REFERENCES "machines"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "scheduled_operations" ADD CONSTRAINT "scheduled_operations_schedule_id_schedules_id_fkey" FOREIGN KEY ("schedule_id") REFERENCES "schedules"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "scheduled_operations" ADD CONSTRAINT "scheduled_operations_order_id_orders_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "scheduled_operations" ADD CONSTRAINT "scheduled_operations_machine_id_machines_id_fkey" FOREIGN KEY ("machine_id") REFERENCES "machines"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_job_id_jobs_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE SET NULL;