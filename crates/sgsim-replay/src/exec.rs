//! `SessionFoldExec`: the session pass as a physical operator. Its input is partitioned by
//! connection and sorted within each partition; each output partition is one row, the
//! partition's [`PartResult`](crate::fold::PartResult) as JSON (see [`crate::wire`]). The
//! operator travels to Ballista's executors through [`crate::codec`].

use crate::fold::fold;
use crate::udf::Replayed;
use crate::wire::to_wire;
use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    PlanProperties, ReplaceChildrenOptions, SendableRecordBatchStream,
};
use std::fmt;
use std::sync::Arc;

/// The output column: one partition's result as JSON.
pub const PART_COLUMN: &str = "sg_part";

/// What the fold needs besides its input: the worlds, the files (to name places) and `--show`.
#[derive(Debug)]
pub struct FoldParams {
    /// The world replayed.
    pub world: Arc<Replayed>,
    /// The changed world of a what-if.
    pub against: Option<Arc<Replayed>>,
    /// The input files as given (for places).
    pub files: Vec<String>,
    /// How many disagreements and changes to keep.
    pub show: usize,
}

/// The session pass over each sorted partition of its input.
#[derive(Debug)]
pub struct SessionFoldExec {
    input: Arc<dyn ExecutionPlan>,
    params: Arc<FoldParams>,
    props: Arc<PlanProperties>,
}

/// The operator's output schema.
pub fn part_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        PART_COLUMN,
        DataType::Utf8,
        false,
    )]))
}

impl SessionFoldExec {
    /// The fold over `input`'s partitions.
    pub fn new(input: Arc<dyn ExecutionPlan>, params: Arc<FoldParams>) -> SessionFoldExec {
        let n = input.output_partitioning().partition_count();
        let props = PlanProperties::new(
            EquivalenceProperties::new(part_schema()),
            Partitioning::UnknownPartitioning(n),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        SessionFoldExec {
            input,
            params,
            props: Arc::new(props),
        }
    }

    /// Its parameters.
    pub fn params(&self) -> &Arc<FoldParams> {
        &self.params
    }
}

impl DisplayAs for SessionFoldExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "SessionFoldExec: files={}, what_if={}",
            self.params.files.len(),
            self.params.against.is_some()
        )
    }
}

impl ExecutionPlan for SessionFoldExec {
    fn name(&self) -> &str {
        "SessionFoldExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![false]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children
            .into_iter()
            .next()
            .ok_or_else(|| DataFusionError::Internal("SessionFoldExec takes one input".into()))?;
        Ok(Arc::new(SessionFoldExec::new(input, self.params.clone())))
    }

    #[allow(deprecated)]
    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(
                datafusion::physical_plan::ChildrenPropertiesMode::Recompute,
            ),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let stream = self.input.execute(partition, context)?;
        let p = self.params.clone();
        let schema = part_schema();
        let out = schema.clone();
        let work = async move {
            let r = fold(stream, &p.world, p.against.as_deref(), &p.files, p.show)
                .await
                .map_err(DataFusionError::Execution)?;
            let text = to_wire(&r);
            Ok(RecordBatch::try_new(
                out,
                vec![Arc::new(StringArray::from(vec![text]))],
            )?)
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::once(work),
        )))
    }
}
